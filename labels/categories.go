package labels

import "slices"

// categories is the fixed list of coarse categories used in data/imagenet.tsv, in display order.
// They exist so that `--only 狗` selects the 118 dog breeds, whose Chinese names end in 犬/梗 and would not
// match the substring 狗. A class may belong to several (虎斑猫: 动物,哺乳动物,猫).
//
//	动物      every animal class (0–397)
//	哺乳动物  mammals: dogs, wild canids, cats, big cats, bears, primates, whales, ...
//	狗        the domestic dog breeds (151–268); wolves, foxes and hyenas are not 狗
//	猫        the domestic cats (281–285); big cats are only 哺乳动物
//	鸟        birds
//	鱼        fish (whales and dugongs are 哺乳动物, starfish 无脊椎动物)
//	爬行动物  turtles, lizards, crocodiles, snakes, triceratops
//	两栖动物  salamanders, newts, frogs
//	昆虫      insects (spiders, ticks and centipedes are 无脊椎动物, not 昆虫)
//	无脊椎动物 spiders, crabs, snails, jellyfish, corals, worms, starfish, ...
//	海洋生物  animals living in the sea, and the coral reef
//	植物      plants, flowers, seeds, hay
//	菌类      mushrooms and other fungi
//	食物      dishes and edible things (fruit and vegetables too)
//	水果      fruit
//	蔬菜      vegetables
//	饮料      drinks
//	交通工具  vehicles, ships, aircraft and their parts
//	建筑      buildings, shops, bridges, walls, monuments, structures
//	家具      furniture
//	电子产品  electronic and electric devices
//	服装      clothes, shoes, hats, armour worn on the body, jewellery
//	乐器      musical instruments and their accessories
//	运动      sports equipment
//	工具      hand tools and instruments
//	机械      machines (cranes, harvesters, pumps, ...)
//	厨具      kitchen and tableware
//	容器      bottles, boxes, bags, barrels, ...
//	武器      weapons, armour, military vehicles
//	玩具      toys and play equipment
//	日用品    household and personal items not covered above
//	自然景观  landscapes and natural formations
//	人物      people
var categories = []string{
	"动物", "哺乳动物", "狗", "猫", "鸟", "鱼", "爬行动物", "两栖动物", "昆虫", "无脊椎动物", "海洋生物",
	"植物", "菌类", "食物", "水果", "蔬菜", "饮料",
	"交通工具", "建筑", "家具", "电子产品", "服装", "乐器", "运动", "工具", "机械", "厨具", "容器", "武器",
	"玩具", "日用品", "自然景观", "人物",
}

// Categories returns the fixed list of coarse category names (Chinese) that [Set.Categories] draws from,
// in display order. The caller may modify the returned slice.
func Categories() []string { return slices.Clone(categories) }

// IsCategory reports whether name is one of [Categories].
func IsCategory(name string) bool { return slices.Contains(categories, name) }
